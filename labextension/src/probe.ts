/**
 * The probe: a widget of a few hundred bytes that the kernel opens once, at
 * `%load_ext nbstream` (`nbstream/_widgethost.py`). Where a front end runs Jupyter widgets
 * (JupyterLab or Notebook 7 with ipywidgets, VS Code, Colab) its model is created at
 * once and says hello, telling the kernel whether nbstream's own extension is in the page
 * (then that one streams the cells, and the kernel does nothing more here). Where no
 * front end runs widgets (nbclient, a terminal) nothing answers: the kernel keeps
 * sending whole updates.
 */

import { findHook } from './hook';
import type { IHostModel } from './hostkey';

export default {
  initialize({ model }: { model: IHostModel }): void {
    model.send({ kind: 'hello', version: 1, lab: findHook() !== null });
  }
};
