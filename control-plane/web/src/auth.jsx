// Sign-in and sign-up.
import { useState } from 'react';
import { post } from './api.js';
import { Link } from './router.jsx';
import { Problem } from './ui.jsx';

function Field({ label, error, ...input }) {
  return (
    <label className="field">
      <span>{label}</span>
      <input aria-invalid={error ? 'true' : undefined} {...input} />
      {error && <span className="field-error">{error}</span>}
    </label>
  );
}

export function SignIn({ onSession }) {
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      onSession(await post('/session', { email: f.get('email'), password: f.get('password') }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main className="auth">
      <h1>Sign in to StreamHouse</h1>
      <form onSubmit={submit}>
        <Field label="Email" name="email" type="email" autoComplete="username" required autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        <Problem error={error} />
        <button type="submit">Sign in</button>
      </form>
      <p>
        New here? <Link to="/signup">Create an account</Link>
      </p>
    </main>
  );
}

export function SignUp({ onSession }) {
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      onSession(
        await post('/signup', {
          email: f.get('email'),
          password: f.get('password'),
          organization: f.get('organization'),
        }),
      );
    } catch (err) {
      setError(err);
    }
  };
  const fieldError = (name) => (error && error.field === name ? error.message : null);
  return (
    <main className="auth">
      <h1>Create your StreamHouse account</h1>
      <p className="muted">Your organization starts on the Starter plan: 10 GB ingress and 100 GB storage a month.</p>
      <form onSubmit={submit}>
        <Field label="Organization" name="organization" required autoFocus error={fieldError('organization')} />
        <Field label="Email" name="email" type="email" autoComplete="username" required error={fieldError('email')} />
        <Field
          label="Password (at least 10 characters)"
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={10}
          required
          error={fieldError('password')}
        />
        {error && !error.field && <Problem error={error} />}
        <button type="submit">Create account</button>
      </form>
      <p>
        Have an account? <Link to="/signin">Sign in</Link>
      </p>
    </main>
  );
}
