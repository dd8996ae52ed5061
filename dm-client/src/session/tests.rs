//! Unit tests of the session engine against scripted servers.
