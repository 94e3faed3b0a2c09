pub mod cluster;
pub mod dags;
pub mod dev;
pub mod remote;
pub mod worker;
