//! servingd's tests beyond single functions.

mod pacing_simulation;
