// Talks to the sample's JSON API. The browser never sees a Pitchly token: the cookie identifies the user, the server
// calls Pitchly. Text is always set with textContent, never parsed as HTML.
const $ = (selector) => document.querySelector(selector);

// The load in flight. Signing out or loading again aborts it, so an answer asked for before the click cannot
// overwrite what the page shows after it (a late /api/data would otherwise show data on a signed-out page).
let inFlight = new AbortController();

function restart() {
  inFlight.abort();
  inFlight = new AbortController();
  return inFlight.signal;
}

const isAbort = (error) => error?.name === 'AbortError';

async function getJson(path, signal) {
  const response = await fetch(path, { headers: { Accept: 'application/json' }, signal });
  if (response.status === 401) {
    return { signedIn: false };
  }
  if (!response.ok) {
    throw new Error(await describeFailure(path, response));
  }
  return { signedIn: true, body: await response.json() };
}

// A failure the server answered with a problem (RFC 9457): its title and detail, and when to try again (503 with
// Retry-After: the token store or Pitchly is unavailable for a moment, nothing was lost).
async function describeFailure(path, response) {
  let text = `${path} answered HTTP ${response.status}`;
  if ((response.headers.get('Content-Type') ?? '').startsWith('application/problem+json')) {
    const problem = await response.json();
    text = [problem.title, problem.detail].filter(Boolean).join(': ') || text;
  }
  const retryAfter = response.headers.get('Retry-After');
  return retryAfter ? `${text} Try again in ${retryAfter} s.` : text;
}

function showSignedOut(message) {
  $('#status').textContent = message;
  $('#sign-in').hidden = false;
  $('#sign-out').hidden = true;
  $('#reload').hidden = true;
  $('#profile').hidden = true;
  $('#data').replaceChildren();
  showProblems([]);
}

function showProblems(problems) {
  const list = $('#problems ul');
  list.replaceChildren(...problems.map((problem) => Object.assign(document.createElement('li'), { textContent: problem })));
  $('#problems').hidden = problems.length === 0;
}

function table(fields, records) {
  if (records.length === 0) {
    return Object.assign(document.createElement('p'), { textContent: 'No records.' });
  }
  const element = document.createElement('table');
  const head = element.createTHead().insertRow();
  for (const field of fields) {
    head.appendChild(Object.assign(document.createElement('th'), { textContent: field.name, title: field.type }));
  }
  const body = element.createTBody();
  for (const record of records) {
    const row = body.insertRow();
    row.dataset.id = record.id;
    for (const field of fields) {
      row.insertCell().textContent = record.values[field.id] ?? '';
    }
  }
  return element;
}

function heading(level, className, text) {
  return Object.assign(document.createElement(`h${level}`), { className, textContent: text });
}

async function loadData(signal = restart()) {
  $('#status').textContent = 'Loading…';
  $('#data').replaceChildren();
  const data = await getJson('/api/data', signal);
  if (signal.aborted) {
    return;
  }
  if (!data.signedIn) {
    showSignedOut('Your Pitchly sign-in has ended. Sign in again.');
    return;
  }
  const { databases, workspaces, problems } = data.body;
  const parts = [heading(2, '', 'Databases (legacy API)')];
  for (const database of databases) {
    parts.push(heading(3, 'database', database.name), table(database.fields, database.rows));
  }
  parts.push(heading(2, '', 'Workspaces (current platform)'));
  for (const workspace of workspaces) {
    parts.push(heading(3, 'workspace', workspace.name));
    for (const t of workspace.tables) {
      parts.push(heading(4, 'table', t.name), table(t.fields, t.records));
    }
  }
  $('#data').replaceChildren(...parts);
  showProblems(problems);
  $('#status').textContent = `Data loaded at ${new Date().toLocaleTimeString()}.`;
}

function showError(error) {
  if (!isAbort(error)) {
    $('#status').textContent = `Something went wrong: ${error.message}`;
  }
}

async function start() {
  const signal = restart();
  try {
    const me = await getJson('/api/me', signal);
    if (signal.aborted) {
      return;
    }
    if (!me.signedIn) {
      showSignedOut('You are not signed in.');
      return;
    }
    $('#name').textContent = me.body.name ?? '(no name)';
    $('#email').textContent = me.body.email ?? '';
    $('#organization').textContent = me.body.organizationName ?? me.body.organizationId ?? '';
    $('#profile').hidden = false;
    $('#sign-in').hidden = true;
    $('#sign-out').hidden = false;
    $('#reload').hidden = false;
    await loadData(signal);
  } catch (error) {
    showError(error);
  }
}

$('#reload').addEventListener('click', () => loadData().catch(showError));
$('#sign-out').addEventListener('click', async () => {
  restart();
  await fetch('/account/signout', { method: 'POST' });
  showSignedOut('You are not signed in.');
});

start();
