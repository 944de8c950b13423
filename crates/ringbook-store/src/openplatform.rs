//! Queries of the openplatform part.
