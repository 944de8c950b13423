//! Queries of the services part.
