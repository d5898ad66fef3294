"""What a live cell sends in a widget host: deltas on a small widget per answer.

Where a front end runs Jupyter widgets but not nbstream's extension (VS Code, Colab,
JupyterLab or Notebook 7 with ipywidgets only; :mod:`._widgethost` finds out), a live
answer is:

1. the first display: the ordinary bundle, as everywhere (an answer that ends quickly
   never costs more than that and the final bundle), and while the widget cannot be
   paid for yet, whole bundles as the same budget allows (the first after ~15 words);
2. when its opening fits the byte budget, a widget for this answer
   (:class:`~._hostwidgets.AnswerWidget`: a ~400-byte loader script, the text so far in
   ``payload``, the ``Layout`` all nbstream widgets share), and an
   ``update_display_data`` that shows that widget in place of the first display;
3. deltas as the widget's custom messages, the same deltas as on the extension's comm
   (:class:`._wire.DeltaPublisher` makes them);
4. the final bundle, whole, by ``update_display_data`` — exactly what is saved, and it
   replaces the widget's view — then the widget is closed.

All of it spends :func:`._budget.delta_budget`, every byte counted: the widget's
``comm_open`` (its whole state), the display that shows it, each delta, the closing,
the first and the final bundle: ≤ 3× the final bundle at any length and rate. The widget's
fixed cost (~1.3 KB of state and three envelopes) is why it is made only once the answer
is big enough to pay for it, rather than as the first display: a one-line answer could
not. So the first text shows after ~15 words (about 0.3 s at 50 tok/s, 3 s at 5 tok/s),
the widget starts after ~90–250 words (later when whole bundles went first), and the
steps are bigger than the extension's deltas.

Stop: the view interrupts the kernel, as the extension's Stop does, through the widget
manager's kernel connection (JupyterLab, Notebook 7); a host that gives a widget no
kernel to interrupt gets no Stop button in the view, and its own interrupt does the same.
Not a message on the answer's widget: the kernel would read it only after the cell ends
(ipykernel routes a comm's messages to the shell that last published on it, the main
one, which is busy running the cell).
"""

from __future__ import annotations

from typing import Any

from . import _budget, _channel, _widgethost, _wire
from ._bundle import MIME_TYPE
from ._live import IPythonPublisher, Publisher
from ._wire import DeltaPublisher, SparsePublisher

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_METADATA = {"version": "2.1.0"}
"""The metadata of a widget's ``comm_open`` (ipywidgets' protocol version): counted too."""


def live_publisher() -> Publisher:
    """The publisher for a live cell: the extension's deltas, a widget host's, or sparse."""
    _channel.invite()
    if not _channel.present() and _widgethost.present():
        return WidgetPublisher(IPythonPublisher())
    return _wire.live_publisher()


def view_bundle(model_id: str, status_line: str) -> dict[str, Any]:
    """The bundle that shows an answer's widget; readers without widgets see its status."""
    return {
        WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": model_id},
        "text/plain": status_line,
    }


class WidgetPublisher(DeltaPublisher):
    """The first bundle, then a widget for the answer and deltas on it; then the final."""

    def __init__(self, inner: Publisher) -> None:
        super().__init__(inner)
        self._widget: Any = None
        self._launched = False

    def show(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        SparsePublisher.show(self, data, metadata, display_id)  # no id: nothing follows it
        self._seed(data)

    def _send_delta(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        payload = data.get(MIME_TYPE)
        if not isinstance(payload, dict):
            return
        bundle = self.bundle_size(data, metadata, display_id)
        if not self._launched:
            self._launch(payload, bundle, display_id)
            if not self._launched and self._mode == "deltas":
                self._whole(data, metadata, display_id, bundle)
            return
        delta = self._delta(payload)
        message = {"method": "custom", "content": delta}
        cost = _budget.comm_message_size(self._widget.model_id, message, self._envelope)
        if self.budget.allows(cost, bundle):
            self._widget.send(delta)
            self.budget.spend(cost)
            self._sent(payload, delta)

    def _launch(self, payload: dict[str, Any], bundle: int, display_id: str) -> None:
        """Open the answer's widget and show it, if that (and its closing) fits now."""
        try:
            if self._widget is None:
                from ._hostwidgets import AnswerWidget

                self._widget = AnswerWidget(layout=_widgethost.layout())
            widget = self._widget
            widget.payload = {**payload, "stream": display_id}  # not open: nothing is sent
            status_line = str(payload.get("status_line") or "")
            view = view_bundle("x" * 32, status_line)
            envelope = self._envelope
            cost = (
                envelope
                + _budget.content_size(WIDGET_METADATA)
                + _budget.content_size(widget.opening())
                + _budget.bundle_size(view, {}, display_id, envelope)
                + _budget.comm_message_size("x" * 32, {}, envelope)  # the closing
            )
            if not self.budget.allows(cost, bundle):
                return
            widget.launch()
            self._launched = True
            self._inner.update(view_bundle(widget.model_id, status_line), {}, display_id)
        except Exception:  # no widget after all: whole bundles, sparsely
            self._mode = "sparse"
            self.budget.ratio, self.budget.slack = _wire.SPARSE_RATIO, 0
            return
        self.budget.spend(cost)
        self._seed({MIME_TYPE: payload})  # what the widget holds: deltas start there

    def _whole(
        self, data: dict[str, Any], metadata: dict[str, Any], display_id: str, bundle: int
    ) -> None:
        """Until the widget pays for itself, the whole bundle when it fits the same budget.

        So a slow model's first words show after ~15 words rather than ~100 (at 5 tok/s
        ~3 s rather than ~20 s); the widget then starts later (~250 words rather than
        ~100 in the tests), as these bytes count too. The ≤ 3× bound is the same budget's.
        """
        self._send_whole(data, metadata, display_id, lambda size: self.budget.allows(size, bundle))

    def finish(self) -> None:
        """The final bundle, whole (it replaces the widget's view), then the widget closes."""
        super().finish()
        widget, self._widget = self._widget, None
        if widget is not None and self._launched:
            widget.close()
