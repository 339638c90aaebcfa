//! Workspace-level tests live in this folder; the library is empty.
