// The login form: the token goes in a POST body (JSON), never in a URL.
const form = document.getElementById('login')
const input = document.getElementById('token')
const error = document.getElementById('error')

form.addEventListener('submit', async event => {
  event.preventDefault()
  error.hidden = true
  let res
  try {
    res = await fetch('/dashboard/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: input.value.trim() }),
      credentials: 'same-origin'
    })
  } catch {
    show('The node did not answer.')
    return
  }
  if (res.status === 204) {
    input.value = ''
    location.assign('/dashboard/')
    return
  }
  show(res.status === 429 ? 'Too many attempts; wait a minute.' : res.status === 401 ? 'Wrong token.' : `Refused (${res.status}).`)
})

function show (text) {
  error.textContent = text
  error.hidden = false
  document.body.dataset.loginFailed = String(Number(document.body.dataset.loginFailed ?? 0) + 1)
}
