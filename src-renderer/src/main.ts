import { mount } from 'svelte';
import { createClient } from '../../src-shared/api.ts';
import App from './App.svelte';
import { createIpcTransport } from './lib/transport-ipc.ts';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

// The transport is picked here and nowhere else; the UI only ever sees a Client.
const client = createClient(createIpcTransport());

export default mount(App, { target, props: { client } });
