//! Targets that fail on purpose when the input holds a marker byte, so that tests can check that
//! the harness catches each kind of failure: a panic, a hang, an unbounded allocation and an
//! error that does not say where.

use crate::seeds::SeedFiles;
use crate::{Structure, Target, Verdict};

/// The byte that triggers each self-test's failure.
pub const MARKER: u8 = b'!';

#[derive(Clone, Copy)]
enum Failure {
    Panic,
    Hang,
    Allocation,
    BadError,
}

pub struct SelfTest(Failure);

pub fn all() -> Vec<Box<dyn Target>> {
    [
        Failure::Panic,
        Failure::Hang,
        Failure::Allocation,
        Failure::BadError,
    ]
    .into_iter()
    .map(|failure| Box::new(SelfTest(failure)) as Box<dyn Target>)
    .collect()
}

impl Target for SelfTest {
    fn name(&self) -> &'static str {
        match self.0 {
            Failure::Panic => "selftest-panic",
            Failure::Hang => "selftest-hang",
            Failure::Allocation => "selftest-alloc",
            Failure::BadError => "selftest-bad-error",
        }
    }

    fn structure(&self) -> Structure {
        Structure::Text
    }

    fn seeds(&self, _files: &SeedFiles) -> Vec<Vec<u8>> {
        vec![b"abc".to_vec(), vec![b'a', MARKER]]
    }

    fn run(&self, input: &[u8]) -> Verdict {
        if !input.contains(&MARKER) {
            return Verdict::Accepted;
        }
        match self.0 {
            Failure::Panic => panic!("self-test panic on the marker byte"),
            Failure::Hang => {
                // Longer than the hang limit the tests set, short enough not to stall them.
                std::thread::sleep(std::time::Duration::from_millis(400));
                Verdict::Accepted
            }
            Failure::Allocation => {
                let huge: Vec<u8> = vec![1; 1 << 30];
                Verdict::BadError(format!("{}", huge.len()))
            }
            Failure::BadError => Verdict::BadError("an error that names nothing".into()),
        }
    }
}
