/*
 * The CLI's words and formats, from the module both share (`@tapit/protocol/format`), so a page
 * and `tapit show task` read the same. Times are UTC, as in the CLI's listings.
 */
export * from '@tapit/protocol/format';
