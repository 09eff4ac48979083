//! The FOX exchange described in one YAML file.
