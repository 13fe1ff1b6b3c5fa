//! [`SupervisorActor`]: the parent of the run's long-lived actors (model, CRS, user and results
//! actors). They live for the whole run, so one of them dying is not one failed sample: it is a
//! run that can no longer finish. The supervisor turns such a death into a clear error that stops
//! the run (instead of samples hanging on an actor that will never answer). It does nothing
//! else: samples are supervised by the [`super::sweep_actor::SweepActor`].

use std::collections::HashMap;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::mpsc::UnboundedSender;

/// Messages of the [`SupervisorActor`].
pub enum SupervisorMessage {
    /// Name a child in the error its death gives.
    Label { actor: ActorId, label: String },
}

/// What a [`SupervisorActor`] is started with.
pub struct SupervisorArguments {
    /// Where the death of a child is reported (the run stops on the first).
    pub died: UnboundedSender<String>,
}

/// The labels of the children.
pub struct SupervisorState {
    died: UnboundedSender<String>,
    labels: HashMap<ActorId, String>,
}

/// The parent of the long-lived actors.
pub struct SupervisorActor;

impl Actor for SupervisorActor {
    type Msg = SupervisorMessage;
    type State = SupervisorState;
    type Arguments = SupervisorArguments;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        arguments: SupervisorArguments,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        Ok(SupervisorState {
            died: arguments.died,
            labels: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: SupervisorMessage,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        let SupervisorMessage::Label { actor, label } = message;
        state.labels.insert(actor, label);
        Ok(())
    }

    // The default stops the supervisor when a child stops; here a child that fails or stops by
    // itself is reported, and the run decides (a stop the run asked for at its end is not read).
    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        let label = |id: ActorId| {
            state
                .labels
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("actor {id}"))
        };
        let death = match event {
            SupervisionEvent::ActorFailed(child, error) => {
                Some(format!("the {} failed: {error}", label(child.get_id())))
            }
            SupervisionEvent::ActorTerminated(child, _, reason) => Some(format!(
                "the {} stopped{}",
                label(child.get_id()),
                reason
                    .map(|reason| format!(": {reason}"))
                    .unwrap_or_default()
            )),
            _ => None,
        };
        if let Some(death) = death {
            // The run may be over and no longer listening: nothing to do then.
            let _ = state.died.send(death);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child that fails on its first message.
    struct Fragile;

    impl Actor for Fragile {
        type Msg = ();
        type State = ();
        type Arguments = ();

        async fn pre_start(
            &self,
            _myself: ActorRef<()>,
            _arguments: (),
        ) -> Result<(), ActorProcessingErr> {
            Ok(())
        }

        async fn handle(
            &self,
            _myself: ActorRef<()>,
            _message: (),
            _state: &mut (),
        ) -> Result<(), ActorProcessingErr> {
            Err("the store is gone".into())
        }
    }

    #[tokio::test]
    async fn a_failing_child_is_reported_by_its_label() {
        let (died, mut deaths) = tokio::sync::mpsc::unbounded_channel();
        let (supervisor, _) = Actor::spawn(None, SupervisorActor, SupervisorArguments { died })
            .await
            .unwrap();
        let (child, _) = Actor::spawn_linked(None, Fragile, (), supervisor.get_cell())
            .await
            .unwrap();
        supervisor
            .cast(SupervisorMessage::Label {
                actor: child.get_id(),
                label: "results actor".into(),
            })
            .unwrap();
        // Supervision events may overtake messages: let the label land first.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        child.cast(()).unwrap();
        let death = tokio::time::timeout(std::time::Duration::from_secs(5), deaths.recv())
            .await
            .expect("reported in time")
            .expect("a death");
        assert!(death.starts_with("the results actor failed"), "{death}");
        assert!(death.contains("the store is gone"), "{death}");
        supervisor.stop(None);
    }
}
