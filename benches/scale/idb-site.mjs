// The page of the Chromium part: dev/browser-site.mjs' site (the repository's yreplica, Yjs,
// y-indexeddb) with this benchmark's records.mjs and limits.mjs on `window` as well.
import { serveBrowserSite } from '../../dev/browser-site.mjs'

/** Returns { url, close() }: the page is `${url}/index.html`, ready when `window.ready`. */
export function serveBenchSite() {
  return serveBrowserSite({
    modules: { records: '/yreplica/benches/scale/records.mjs', limits: '/yreplica/benches/scale/limits.mjs' },
  })
}
