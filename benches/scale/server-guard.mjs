// Runs the server script named by SCALE_SERVER_SCRIPT in this process, and ends the process
// when the benchmark that started it is gone (even if that one was killed outright).
import { pathToFileURL } from 'node:url'

const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(0)
}, 500).unref()

await import(pathToFileURL(process.env.SCALE_SERVER_SCRIPT).href)
