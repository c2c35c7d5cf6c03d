//! Counter-based random numbers (see module docs once written).
