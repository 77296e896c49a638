"""The Celery app: settings under the CELERY_ namespace, tasks discovered in installed apps; and the
embedded broker's transport (settings.CELERY_BROKER_TRANSPORT names it for `filesystem://`)."""

from __future__ import annotations

import os
import uuid
from time import monotonic

from celery import Celery
from celery.signals import worker_process_init
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "main.settings")

app = Celery("leadscore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _wal_checkpointer(**_: object) -> None:
    # A pool process never forks: it may run the thread that checkpoints SQLite's WAL off the
    # commit path (main/wal_checkpoint.py). The parent, which forks new pool processes, runs none.
    from main.wal_checkpoint import checkpointer_start

    checkpointer_start()


#: A message being written: a name no reader picks up (they take `<stamp>_<uuid>.<queue>.msg` only).
PARTIAL_SUFFIX = ".part"


class FilesystemChannel(filesystem.Channel):
    """kombu's filesystem channel, with every message written whole before a reader can see it.

    kombu creates `<name>.msg` and then writes into it, so a worker polling the folder can move and
    read the file in between: an empty payload, a JSONDecodeError, and the worker stops ("Unrecoverable
    error") with the message lost. Here the payload goes to `<name>.msg.part` and is renamed into place
    (atomic on one filesystem), so a reader only ever finds complete messages."""

    def _put(self, queue: str, payload: object, **kwargs: object) -> None:
        final = os.path.join(self.data_folder_out, f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg")
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel
