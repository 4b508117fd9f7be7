// A child process that writes records to a file-store replica as fast as it can and prints
// each id once its write promise has resolved (the parent SIGKILLs it mid-burst).
import { Replica } from 'yreplica'

const [dir, endpoints] = process.argv.slice(2)
const replica = await Replica.open({
  name: 'burst',
  storage: { dir },
  endpoints: endpoints ? endpoints.split(',') : [],
})
const todos = replica.collection('todos')
for (let i = 0; ; i++) {
  await todos.insert({ id: `k${i}`, n: i })
  process.stdout.write(`k${i}\n`)
}
