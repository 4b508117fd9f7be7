// Replication latency, write on one side -> seen on the other, for a pair of replicas and,
// alternating in the same loop, a pair of plain Yjs docs synced by some provider.

export async function measureLatency({ a, b, docA, docB, YMap }, samples) {
  const ours = []
  const theirs = []
  for (let i = 0; i < samples; i++) {
    const id = `l${i}`
    let start = performance.now()
    const seen = new Promise((resolve) => {
      const stop = b.collection('todos').subscribe((changes) => {
        if (changes.some((c) => c.id === id)) {
          stop()
          resolve()
        }
      })
    })
    await a.collection('todos').insert({ id, i })
    await seen
    ours.push(performance.now() - start)

    start = performance.now()
    const seenY = new Promise((resolve) => {
      const observer = (event) => {
        if (event.keysChanged.has(id)) {
          docB.getMap('todos').unobserve(observer)
          resolve()
        }
      }
      docB.getMap('todos').observe(observer)
    })
    docA.getMap('todos').set(id, new YMap([['i', i]]))
    await seenY
    theirs.push(performance.now() - start)
  }
  return { ours, theirs }
}
