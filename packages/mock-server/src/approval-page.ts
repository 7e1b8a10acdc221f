const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}
code{font-size:1.5rem;letter-spacing:.1em}button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}</style>
</head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

/** The page at `verification_uri`: enter a code, or approve/deny the one in the URL. */
export function approvalPage(userCode: string | undefined, pending: boolean): string {
  if (!userCode) {
    return page(
      'Device login',
      `<form method="get" action="/device">
<label>Code shown on your device <input name="user_code" autofocus required></label>
<button type="submit">Continue</button>
</form>`,
    );
  }
  if (!pending) {
    return page(
      'Unknown code',
      `<p>The code <code>${escapeHtml(userCode)}</code> is not pending: it may have expired or been used. Start the login again on your device.</p>`,
    );
  }
  return page(
    'Approve device login',
    `<p>A device asks to sign in as you with the code</p>
<p><code id="user-code">${escapeHtml(userCode)}</code></p>
<form method="post" action="/device">
<input type="hidden" name="user_code" value="${escapeHtml(userCode)}">
<button type="submit" name="action" value="approve" id="approve">Approve</button>
<button type="submit" name="action" value="deny" id="deny">Deny</button>
</form>`,
  );
}

export function decisionPage(decision: 'approved' | 'denied' | 'unknown'): string {
  switch (decision) {
    case 'approved':
      return page(
        'Device approved',
        '<p id="result">Device approved. You can close this window and return to your device.</p>',
      );
    case 'denied':
      return page('Device denied', '<p id="result">The login was denied.</p>');
    default:
      return page(
        'Unknown code',
        '<p id="result">That code is not pending. Start the login again on your device.</p>',
      );
  }
}
