//! Filter corpus, eval cases and properties.
