//! Queries of the official part.
