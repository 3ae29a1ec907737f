//! Integration tests: the real Router and real PostgreSQL, one module per page area.

mod common;

mod admin_access;
mod admins;
mod alerts;
mod api;
mod assets;
mod audit;
mod authorization;
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
mod escaping;
mod faults;
mod health;
mod impersonation;
mod instances;
mod invoices;
mod license;
mod login;
mod migrations;
mod organizations;
mod portal;
mod resellers;
mod row_security;
mod seed;
mod sla_roll_up;
mod space;
mod two_factor;
