from typing import Any

from django.core.management.base import BaseCommand, CommandError

from workflow.audit.checkpoint import CheckpointGap, make_checkpoint, publish_pending
from workflow.keys import SigningMaterialError


class Command(BaseCommand):
    help = "Sign a checkpoint over every audit stream head now and write it to the witness."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoint = make_checkpoint()
        except (CheckpointGap, SigningMaterialError) as err:
            raise CommandError(str(err), returncode=1) from err
        publish_pending()
        if checkpoint is None:
            self.stdout.write("nothing was recorded since the last checkpoint")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"checkpoint {checkpoint.number}: {checkpoint.tree_size} events in "
                f"{checkpoint.streams} streams, "
                f"root {checkpoint.root_hash}, witness {checkpoint.witness_name}"
            )
        )
