import { mount } from 'svelte';
import { createClient } from '../../src-shared/api.ts';
import App from './App.svelte';
import { pickTransport } from './lib/transport.ts';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

// The transport is picked here and nowhere else (Electron IPC in the desktop app, HTTP + WebSocket in
// browser mode); the UI only ever sees a Client and a media URL function.
const { transport, mediaUrl } = pickTransport();
const client = createClient(transport, {
  // A payload that fails its schema is a core/UI mismatch: say so where a developer looks.
  onInvalidEvent: (error) => console.error(error.message),
});

export default mount(App, { target, props: { client, media: mediaUrl } });
