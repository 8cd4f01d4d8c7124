//! Where hits are counted: [`MemoryStorage`] in the process, or Redis shared by every instance.

mod memory;

pub use memory::{MemoryBounds, MemoryStorage};
