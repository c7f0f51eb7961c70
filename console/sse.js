// A Server-Sent Events reader for fetch bodies (EventSource cannot send the bearer
// header). Yields {event, id, data} for events and {comment} for comment lines.

export async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  let current = { event: 'message', id: null, data: [] }
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value
      let nl
      while ((nl = buffer.indexOf('\n')) !== -1) {
        let line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line.endsWith('\r')) line = line.slice(0, -1)
        if (line === '') {
          if (current.data.length > 0) {
            yield { event: current.event, id: current.id, data: current.data.join('\n') }
          }
          current = { event: 'message', id: null, data: [] }
          continue
        }
        if (line.startsWith(':')) {
          yield { comment: line.slice(1).trimStart() }
          continue
        }
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        let text = colon === -1 ? '' : line.slice(colon + 1)
        if (text.startsWith(' ')) text = text.slice(1)
        if (field === 'event') current.event = text
        else if (field === 'data') current.data.push(text)
        else if (field === 'id' && !text.includes('\0')) current.id = text
      }
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}
