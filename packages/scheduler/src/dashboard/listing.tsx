/** @jsxImportSource hono/jsx */
import type { Details, Listing } from '@tapit/protocol/format';
import type { Child } from 'hono/jsx';

/**
 * A listing of the CLI's (`@tapit/protocol/format`) as a table: its headers and cells, each cell
 * labelled with its header so that a phone shows each row as a card (styles.ts, `table.cards`).
 */
export function ListingTable(props: {
  listing: Listing;
  label: string;
  /** A cell's content instead of its text (a link, a button). */
  cell?: (row: number, column: number, text: string) => Child;
  rowClass?: (row: number) => string | undefined;
  /** A last column of its own (buttons), not one of the CLI's. */
  extra?: { header: string; cell: (row: number) => Child };
}) {
  const { listing, cell, extra } = props;
  return (
    <div class="table-wrap">
      <table class="cards" aria-label={props.label}>
        <thead>
          <tr>
            {listing.headers.map((header) => (
              <th scope="col">{header}</th>
            ))}
            {extra && <th scope="col">{extra.header}</th>}
          </tr>
        </thead>
        <tbody>
          {listing.rows.map((cells, row) => (
            <tr class={props.rowClass?.(row)}>
              {cells.map((text, column) => (
                <td data-label={listing.headers[column]}>{cell ? cell(row, column, text) : text}</td>
              ))}
              {extra && <td data-label={extra.header}>{extra.cell(row)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** `Key`, `value` pairs of `tapit show …` as a description list. */
export function DetailsList(props: { details: Details }) {
  return (
    <dl class="details">
      {props.details.map(([key, value]) => (
        <>
          <dt>{key}</dt>
          <dd>{value}</dd>
        </>
      ))}
    </dl>
  );
}

/** A form that POSTs one action with the page's CSRF token: a button, keyboard-usable, no script. */
export function ActionButton(props: { action: string; csrf: string; label: string; name?: string; fields?: Record<string, string> }) {
  return (
    <form class="inline" method="post" action={props.action}>
      <input type="hidden" name="csrf" value={props.csrf} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" aria-label={props.name}>{props.label}</button>
    </form>
  );
}
