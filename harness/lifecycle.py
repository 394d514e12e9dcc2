"""A context manager over start()/stop() for the harness's long-lived parts."""

from __future__ import annotations


class StartStop:
    """`with part:` starts it, and stops it on exit; a start that fails half-way is stopped too, so
    whatever it had started by then (processes, namespaces, a helm release) is not left behind."""

    def start(self):
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
