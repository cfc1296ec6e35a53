import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatSegments, readChatTemplate, renderChat, DEFAULT_CHAT_TEMPLATE } from '../../src/adapt/chat-template.ts';

// ChatML, as in the tokenizer_config.json of Qwen and OpenHermes models.
const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
// Zephyr's, which reads eos_token.
const ZEPHYR =
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}" +
  "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\\n' + message['content'] + eos_token }}{% endif %}" +
  "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}{% endfor %}";

const conversation = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: '2+2?' },
];

test('renderChat equals the known rendered strings (ChatML, Zephyr with eos_token, the plain default)', () => {
  assert.equal(
    renderChat(conversation, CHATML, { addGenerationPrompt: true }),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(renderChat(conversation.slice(1, 3), ZEPHYR, { eosToken: '</s>' }), '<|user|>\nHi</s><|assistant|>\nHello!</s>');
  assert.equal(renderChat(conversation, DEFAULT_CHAT_TEMPLATE, { addGenerationPrompt: true }), 'System: Be brief.\nUser: Hi\nAssistant: Hello!\nUser: 2+2?\nAssistant: ');
  assert.equal(renderChat(conversation.slice(0, 2)), 'System: Be brief.\nUser: Hi\n');
});

test('chatSegments marks exactly the assistant turns trainable, and the pieces rebuild the rendering', () => {
  const messages = [...conversation, { role: 'assistant', content: '4' }];
  const segments = chatSegments(messages, CHATML);
  assert.equal(segments.map((s) => s.text).join(''), renderChat(messages, CHATML));
  assert.deepEqual(segments.filter((s) => s.trainable).map((s) => s.text), ['Hello!<|im_end|>\n', '4<|im_end|>\n']);
  assert.deepEqual(chatSegments(messages).filter((s) => s.trainable).map((s) => s.text), ['Hello!\n', '4\n']);
});

test('readChatTemplate: chat_template.jinja first, then tokenizer_config.json, else null', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-chat-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(readChatTemplate(dir), null);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: [{ name: 'tool_use', template: 'x' }, { name: 'default', template: CHATML }] }));
  assert.equal(readChatTemplate(dir), CHATML);
  writeFileSync(join(dir, 'chat_template.jinja'), ZEPHYR);
  assert.equal(readChatTemplate(dir), ZEPHYR);
});
