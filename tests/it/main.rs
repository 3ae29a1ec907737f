//! Integration tests: the real Router and real PostgreSQL, one module per page area.

mod common;

mod api;
mod cli;
mod clients;
mod customer_deletion;
mod customer_details;
mod customer_form;
mod customer_settings;
mod customers;
mod dashboard;
mod email;
mod engine;
mod health;
mod invoices;
mod login;
mod migrations;
mod portal;
mod resellers;
mod row_security;
mod seed;
mod space;
