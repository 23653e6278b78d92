"""Live recording control: the in-memory recording state of each conversation someone has touched."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from recording_assets.sandbox.org import Conversation

RECORDING_STATES = ("ACTIVE", "PAUSED", "NONE")


@dataclass(frozen=True)
class RecordingState:
    state: str  # active | paused | none (CallConversation spelling)
    secure_pause: bool = False
    participant_recording: dict[str, bool] = field(default_factory=dict)  # participant id -> ad-hoc on/off

    def participant(self, participant_id: str, default: bool) -> bool:
        return self.participant_recording.get(participant_id, default)


class RecordingControl:
    def __init__(self) -> None:
        self._states: dict[str, RecordingState] = {}
        self._lock = threading.Lock()

    def state(self, conv: Conversation) -> RecordingState:
        with self._lock:
            stored = self._states.get(conv.id)
        if stored is not None:
            return stored
        return RecordingState("active" if conv.recordings else "none")

    def set_state(self, conv: Conversation, value: str) -> RecordingState:
        """Apply a SetRecordingState write: PAUSED = secure pause, ACTIVE resumes, NONE stops."""
        current = self.state(conv)
        updated = replace(current, state=value.lower(), secure_pause=value == "PAUSED")
        with self._lock:
            self._states[conv.id] = updated
        return updated

    def set_participant(self, conv: Conversation, participant_id: str, recording: bool) -> RecordingState:
        current = self.state(conv)
        flags = dict(current.participant_recording)
        flags[participant_id] = recording
        updated = replace(current, participant_recording=flags)
        with self._lock:
            self._states[conv.id] = updated
        return updated
