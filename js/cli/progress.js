// Progress on long operations, on stderr: a line redrawn in place on a terminal, plain lines
// (at most a few per second) with --progress when stderr is a pipe, nothing otherwise, so
// stdout and stderr stay quiet for scripts.
import { redact } from './redact.js'

const LINES_EVERY_MS = 250

export class Progress {
  /**
   * @param {NodeJS.WriteStream} stream stderr
   * @param {boolean} forced --progress
   */
  constructor(stream, forced) {
    this.stream = stream
    this.tty = Boolean(stream.isTTY)
    this.enabled = this.tty || forced
    this.shown = false
    this.lastText = ''
    this.lastAt = 0
  }

  /**
   * Shows `text`. In line mode a `frequent` text (a running count) is printed at most every
   * LINES_EVERY_MS; other texts (a new phase) always.
   */
  update(text, frequent = false) {
    if (!this.enabled || text === this.lastText) return
    const now = Date.now()
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${redact(text)}`)
      this.shown = true
    } else if (!frequent || now - this.lastAt >= LINES_EVERY_MS) {
      this.stream.write(`${redact(text)}\n`)
      this.lastAt = now
    } else {
      return
    }
    this.lastText = text
  }

  /** "label done/total", printed whenever it changes and always at the end. */
  count(label, done, total) {
    this.update(`${label} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`, done > 0 && done < total)
  }

  /** Clears the terminal line so results print on a clean line. */
  clear() {
    if (this.tty && this.shown) this.stream.write('\r\x1b[2K')
    this.shown = false
    this.lastText = ''
  }
}
