//! The proactive side of the simulated card (TS 102 221 §14.7, TS 102 223 §6): commands queued by the
//! card's applications, announced with `91xx`, fetched with FETCH and closed by TERMINAL RESPONSE.
//!
//! [`ProactiveQueue`] numbers the commands (command number 1, 2, … in the command details, TS 102 223
//! §8.6), holds the one the terminal has fetched and not yet answered, and checks that a TERMINAL
//! RESPONSE answers it (same command number and type).

use std::collections::VecDeque;

use m2msim_codec::Encode;
use m2msim_codec::cat::{
    CommandDetails, ProactiveCommand, Refresh, RefreshMode, SendShortMessage, SimpleValue, TerminalResponse,
};

/// Most commands waiting at once (a bound on what a burst of packets can queue).
pub const MAX_QUEUED: usize = 16;

/// Proactive commands waiting for FETCH, and the one being executed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProactiveQueue {
    queue: VecDeque<ProactiveCommand>,
    in_progress: Option<ProactiveCommand>,
    last_number: u8,
}

/// Why a proactive command could not be queued or answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProactiveError {
    /// [`MAX_QUEUED`] commands are already waiting.
    #[error("proactive queue full")]
    Full,
    /// TERMINAL RESPONSE with no command fetched.
    #[error("no proactive command in progress")]
    NoneInProgress,
    /// TERMINAL RESPONSE whose command details do not match the command in progress.
    #[error("terminal response does not answer the command in progress")]
    Mismatch,
}

impl ProactiveQueue {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The next command number (1..=254, then 1 again).
    fn next_number(&mut self) -> u8 {
        self.last_number = if self.last_number >= 0xFE { 1 } else { self.last_number + 1 };
        self.last_number
    }

    /// Queues a command built by `build` from its command number.
    ///
    /// # Errors
    /// [`ProactiveError::Full`].
    pub fn push_with(&mut self, build: impl FnOnce(u8) -> ProactiveCommand) -> Result<u8, ProactiveError> {
        if self.queue.len() >= MAX_QUEUED {
            return Err(ProactiveError::Full);
        }
        let n = self.next_number();
        self.queue.push_back(build(n));
        Ok(n)
    }

    /// Queues SEND SHORT MESSAGE with an SMS-SUBMIT TPDU (TS 31.111 §6.6.9).
    ///
    /// # Errors
    /// [`ProactiveError::Full`].
    pub fn push_send_sms(&mut self, tpdu: Vec<u8>) -> Result<u8, ProactiveError> {
        self.push_with(|n| SendShortMessage::new(n, tpdu).to_command())
    }

    /// Queues REFRESH in `mode` (TS 102 223 §6.4.7).
    ///
    /// # Errors
    /// [`ProactiveError::Full`].
    pub fn push_refresh(&mut self, mode: RefreshMode) -> Result<u8, ProactiveError> {
        self.push_with(|n| Refresh::new(n, mode).to_command())
    }

    /// The length of the command `91xx` should announce: the next one, unless one is in progress.
    #[must_use]
    pub fn announce(&self) -> Option<usize> {
        if self.in_progress.is_some() {
            return None;
        }
        self.queue.front().map(|c| c.encode().len())
    }

    /// True when the terminal fetched a command and has not answered it.
    #[must_use]
    pub const fn busy(&self) -> bool {
        self.in_progress.is_some()
    }

    /// Commands waiting (not counting the one in progress).
    #[must_use]
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// FETCH: the next command, now in progress. `None` when nothing waits or one is in progress.
    pub fn fetch(&mut self) -> Option<&ProactiveCommand> {
        if self.in_progress.is_some() {
            return None;
        }
        self.in_progress = self.queue.pop_front();
        self.in_progress.as_ref()
    }

    /// TERMINAL RESPONSE: closes the command in progress and returns it.
    ///
    /// # Errors
    /// [`ProactiveError::NoneInProgress`], [`ProactiveError::Mismatch`] (the command stays in progress).
    pub fn answer(&mut self, tr: &TerminalResponse) -> Result<ProactiveCommand, ProactiveError> {
        let cmd = self.in_progress.as_ref().ok_or(ProactiveError::NoneInProgress)?;
        let same = |a: &CommandDetails, b: &CommandDetails| {
            a.number == b.number && a.type_of_command == b.type_of_command
        };
        match (cmd.command_details(), tr.command_details()) {
            (Some(a), Some(b)) if same(a, b) => {}
            _ => return Err(ProactiveError::Mismatch),
        }
        self.in_progress.take().ok_or(ProactiveError::NoneInProgress)
    }

    /// Drops everything (card reset).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.in_progress = None;
    }
}

/// The command details of a proactive command, if it has them.
#[must_use]
pub fn details(c: &ProactiveCommand) -> Option<CommandDetails> {
    c.objects.iter().find_map(|o| match &o.value {
        SimpleValue::CommandDetails(d) => Some(*d),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use m2msim_codec::cat::{CommandResult, CommandType};

    #[test]
    fn fetch_and_answer_in_order() {
        let mut q = ProactiveQueue::new();
        assert_eq!(q.announce(), None);
        assert_eq!(q.push_refresh(RefreshMode::UiccReset), Ok(1));
        assert_eq!(q.push_send_sms(vec![0x41, 0x00]), Ok(2));
        // D0 09 81 03 01 01 04 82 02 81 82 (m2m.md §4.4).
        assert_eq!(q.announce(), Some(11));
        let c = q.fetch().unwrap().clone();
        assert_eq!(hex::encode_upper(c.encode()), "D009810301010482028182");
        assert_eq!(q.announce(), None, "one in progress");
        assert!(q.fetch().is_none());
        let wrong =
            TerminalResponse::new(CommandDetails::new(2, CommandType::Refresh, 4), CommandResult::SUCCESS);
        assert_eq!(q.answer(&wrong), Err(ProactiveError::Mismatch));
        let tr = TerminalResponse::new(details(&c).unwrap(), CommandResult::SUCCESS);
        assert_eq!(q.answer(&tr), Ok(c));
        assert_eq!(q.answer(&tr), Err(ProactiveError::NoneInProgress));
        assert!(q.announce().is_some());
        q.clear();
        assert!(q.is_empty() && !q.busy());
        for _ in 0..MAX_QUEUED {
            q.push_refresh(RefreshMode::NaaInit).unwrap();
        }
        assert_eq!(q.push_refresh(RefreshMode::NaaInit), Err(ProactiveError::Full));
    }
}
