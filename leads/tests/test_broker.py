"""The embedded broker's transport: a worker polling the queue folder never finds half a message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kombu import Connection

import main.celery as broker

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def connection(tmp_path: Path):
    queue = tmp_path / "queue"
    queue.mkdir()
    with Connection("filesystem://", transport=broker.FilesystemTransport, transport_options={
            "data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(tmp_path),
            "store_processed": False, "polling_interval": 0.01}) as conn:
        yield conn, queue


def test_a_message_round_trips_whole(connection) -> None:
    conn, queue = connection
    payload = {"task": "leads.tasks.score_chunk_task", "args": [7], "bio": "x" * 100_000}
    with conn.SimpleQueue("celery") as simple:
        simple.put(payload)
        assert [name.endswith(".celery.msg") for name in os.listdir(queue)] == [True]
        message = simple.get(timeout=2)
        assert message.payload == payload
        message.ack()
    assert os.listdir(queue) == []


def test_no_message_file_is_visible_before_its_payload_is_written(connection, monkeypatch) -> None:
    """kombu's own channel creates `<name>.msg` and then writes it: a reader in between read an empty
    file and stopped the worker. Here, while the payload is being written, no `.msg` file exists."""
    conn, queue = connection
    seen_while_writing: list[list[str]] = []
    encode = broker.str_to_bytes

    def watching(value: str) -> bytes:
        seen_while_writing.append(sorted(os.listdir(queue)))
        return encode(value)

    monkeypatch.setattr(broker, "str_to_bytes", watching)
    channel = conn.default_channel
    channel._put("celery", {"n": 1})
    channel._put("celery", {"n": 2})
    # While message k is written: the k - 1 before it, complete, and k itself only as a partial file.
    suffixes = [sorted(name.rsplit(".", 1)[-1] for name in listing) for listing in seen_while_writing]
    assert suffixes == [["part"], ["msg", "part"]]
    assert sorted(channel._get("celery")["n"] for _ in range(2)) == [1, 2]
    assert os.listdir(queue) == []

def test_the_filesystem_broker_uses_this_transport(tmp_path: Path) -> None:
    """In a fresh interpreter with the real settings, as `make run` starts the worker."""
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}}
    code = ("from main.celery import app; conn = app.connection_for_write(); "
            "print(type(conn.transport).__module__, type(conn.transport).__name__)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**env, "DATA_DIR": str(tmp_path), "DEBUG": "1"}, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["main.celery", "FilesystemTransport"]
