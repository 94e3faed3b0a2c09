pub mod cluster;
pub mod dags;
pub mod remote;
pub mod worker;
