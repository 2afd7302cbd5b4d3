//! hoviat
