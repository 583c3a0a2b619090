// Reason phrases for the status line of HTTP/1.1 responses.
import { STATUS_CODES } from 'node:http';

export const STATUS_TEXT: Record<number, string> = { ...STATUS_CODES } as Record<number, string>;
