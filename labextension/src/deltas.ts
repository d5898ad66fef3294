/**
 * Live cells over deltas: the browser's half of `nbstream/_channel.py` and `_wire.py`.
 *
 * The kernel cannot ask the browser anything while a cell runs, so the extension says
 * hello beforehand: it registers the comm target `nbstream` on every kernel connection
 * (JupyterLab keeps targets across restarts), and answers the kernel's `invite` (sent
 * at `%load_ext nbstream`) with a `hello` twice: on the invite comm, on the main shell
 * (queued before any cell run after `%load_ext`), and, where the kernel has subshells,
 * in a comm opened to the kernel's own `nbstream` target on a subshell made for it,
 * which the kernel handles at once even while it runs the rest of a *Run All*. From then
 * on each live answer is:
 *
 * 1. an ordinary `display_data` whose payload names the answer (`stream`: its display id)
 *    — or, for an answer that started before the hello came, whole updates naming it;
 * 2. a comm `answer` for that id, whose opening carries the first piece and whose
 *    messages carry only new text: `seq`, `at` (the offset in the text, in UTF-16 units),
 *    `text`, maybe `r_at` / `reasoning`, and the status line;
 * 3. the final bundle as an ordinary `update_display_data` (no `stream`): it replaces
 *    everything, whatever came before; then the comm closes.
 *
 * The answer's text is kept once per page (`LiveStreams`), whichever connection or views
 * see it: two notebooks on one kernel receive the same comm twice, and a message already
 * applied (`seq`) is skipped. A view that cannot follow (it joined mid-answer, a delta's
 * offset lies beyond the text it has) keeps what its output holds until the final bundle.
 */

import { KernelMessage } from '@jupyterlab/services';
import type { Kernel } from '@jupyterlab/services';
import { UUID } from '@lumino/coreutils';

import { LiveStreams, STREAMS } from './streams';
import type { IDelta } from './streams';

/** The comm target, on both sides. */
export const TARGET = 'nbstream';

export { LiveStreams, STREAMS } from './streams';
export type { IDelta, IStreamState } from './streams';

const attached = new WeakSet<Kernel.IKernelConnection>();

/** Answer invites and follow answers on `kernel` (once per connection). */
export function attachKernel(
  kernel: Kernel.IKernelConnection,
  streams: LiveStreams = STREAMS
): void {
  if (attached.has(kernel)) {
    return;
  }
  attached.add(kernel);
  kernel.registerCommTarget(TARGET, (comm, msg: KernelMessage.ICommOpenMsg) => {
    const data = msg.content.data as {
      kind?: string;
      id?: string;
      seq?: number;
      listens?: boolean;
    };
    if (data.kind === 'invite') {
      // On the main shell: sent while `%load_ext` runs, so it is queued before any cell
      // run after it (a subshell would first need a round trip to make one).
      (comm as { commsOverSubshells?: string }).commsOverSubshells = 'disabled';
      comm.send(HELLO);
      // And at once, for the cells already queued behind `%load_ext` (Run All), where
      // the kernel listens for it (an older nbstream there would log "No such comm target").
      if (data.listens === true) {
        void helloOnSubshell(kernel).catch(error =>
          console.warn('nbstream: no hello on a subshell', error)
        );
      }
      return;
    }
    if (data.kind === 'answer' && typeof data.id === 'string') {
      const id = data.id;
      streams.open(id);
      if (typeof data.seq === 'number') {
        streams.apply(id, data as unknown as IDelta); // the first piece rides in the opening
      }
      comm.onMsg = message => streams.apply(id, message.content.data as unknown as IDelta);
      comm.onClose = () => streams.close(id);
    }
  });
}

const HELLO = { kind: 'hello', version: 1 };

/**
 * The hello again, in a comm opened to the kernel's `nbstream` target on a subshell of
 * its own (JEP 91), then closed, and the subshell deleted. Sent only after an invite that
 * says the kernel `listens` (it registered that target before inviting). Not on the
 * invite comm: ipykernel sends a comm's replies to the shell that opened it (the main
 * one). Nothing happens where the kernel has no subshells, or where the user turned
 * comms over subshells off (JupyterLab's Kernels setting): the main-shell hello is then
 * the only one.
 */
export async function helloOnSubshell(kernel: Kernel.IKernelConnection): Promise<void> {
  await kernel.info;
  if (!kernel.supportsSubshells || kernel.commsOverSubshells === 'disabled') {
    return;
  }
  const reply = await kernel.requestCreateSubshell({}).done;
  const subshellId = (reply.content as { subshell_id?: string }).subshell_id;
  if (!subshellId) {
    return;
  }
  const commId = UUID.uuid4();
  const from = { session: kernel.clientId, username: kernel.username, subshellId };
  const open = KernelMessage.createMessage<KernelMessage.ICommOpenMsg<'shell'>>({
    ...from,
    msgType: 'comm_open',
    channel: 'shell',
    content: { comm_id: commId, target_name: TARGET, data: HELLO }
  });
  const close = KernelMessage.createMessage<KernelMessage.ICommCloseMsg<'shell'>>({
    ...from,
    msgType: 'comm_close',
    channel: 'shell',
    content: { comm_id: commId, data: {} }
  });
  const send = (msg: KernelMessage.IShellMessage): Promise<unknown> =>
    kernel.sendShellMessage(msg, false, true).done;
  try {
    await send(open);
    await send(close);
  } finally {
    await kernel.requestDeleteSubshell({ subshell_id: subshellId }, true).done;
  }
}
