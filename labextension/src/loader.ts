/**
 * The script of each live answer's widget (`nbstream/_widgethost.py`), sent with every
 * answer that streams through a widget, so it is a few hundred bytes: it waits for the
 * answer host the big script registers (`hostkey.ts`, sent once per kernel) and hands the
 * model over. Messages that arrive before the host is there are kept and handed over too,
 * so no delta is lost while the big script loads.
 */

import { IHostModel, whenAnswerHost } from './hostkey';

export default {
  initialize({ model }: { model: IHostModel }): void {
    const queued: unknown[] = [];
    const keep = (message: unknown): void => {
      queued.push(message);
    };
    model.on('msg:custom', keep);
    void whenAnswerHost().then(host => {
      model.off('msg:custom', keep);
      host.follow(model, queued);
    });
  },
  async render({ model, el }: { model: IHostModel; el: HTMLElement }): Promise<() => void> {
    return (await whenAnswerHost()).render({ model, el });
  }
};
