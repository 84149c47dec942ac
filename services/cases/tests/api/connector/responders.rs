//! Responders through the connector.
