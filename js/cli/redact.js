// Tokens must never be printed: every text the CLI writes passes through redact(), which
// replaces each registered secret (and a token=… query parameter) with ***.
const secrets = new Set()

export function addSecret(value) {
  if (typeof value === 'string' && value.length > 0) secrets.add(value)
}

export function redact(text) {
  let out = String(text).replace(/([?&]token=)[^&\s"']*/gi, '$1***')
  for (const secret of secrets) out = out.split(secret).join('***')
  return out
}
