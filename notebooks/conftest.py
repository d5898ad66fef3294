"""nbval runs each cell as Jupyter does: with history, so cells are numbered.

nbval sends every cell with ``store_history=False``: IPython then numbers none of them
(every traceback says ``Cell In[1]``), keeps no ``In``/``Out``, and reads a trailing ``;``
from the wrong cell. A notebook run in JupyterLab, by nbclient or by ``nbconvert
--execute`` stores history, and ``06-notebook-context.ipynb`` asks about ``{In[3]}`` and
``{Err[4]}`` — so its replay under nbval must number cells the same way to send the
recorded prompts. This changes only how nbval asks the kernel to run a cell.
"""

from __future__ import annotations

from typing import Any

from nbval.kernel import RunningKernel


def _execute_with_history(self: Any, cell_input: str, allow_stdin: bool | None = None) -> str:
    msg_id: str = self.kc.execute(
        cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False
    )
    return msg_id


RunningKernel.execute_cell_input = _execute_with_history
