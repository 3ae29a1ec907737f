//! Integration tests: the real Router and real PostgreSQL, one module per page area.

mod common;

mod api;
mod cli;
mod customer_details;
mod dashboard;
mod engine;
mod health;
mod login;
mod migrations;
mod portal;
mod row_security;
mod seed;
