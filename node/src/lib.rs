//! hearth node
