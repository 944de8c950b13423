//! Queries of the profiles part.
