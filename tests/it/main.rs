//! Integration tests: the real Router and real PostgreSQL, one module per page area.

mod common;

mod admins;
mod alerts;
mod audit;
mod cli;
mod dashboard;
mod health;
mod impersonation;
mod license;
mod login;
mod migrations;
mod organizations;
mod portal;
mod row_security;
mod seed;
