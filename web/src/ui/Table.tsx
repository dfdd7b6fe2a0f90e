import type { ReactNode } from 'react';
import { DataTable } from '@shopify/polaris';

export interface Column<T> {
  title: string;
  numeric?: boolean;
  render: (row: T) => ReactNode;
}

// Table is a read-only table of rows: one column definition each.
export function Table<T>({ columns, rows, footer }: { columns: Column<T>[]; rows: T[]; footer?: ReactNode }) {
  return (
    <DataTable
      columnContentTypes={columns.map((c) => (c.numeric ? 'numeric' : 'text'))}
      headings={columns.map((c) => c.title)}
      rows={rows.map((r) => columns.map((c) => c.render(r)))}
      footerContent={footer}
      verticalAlign="middle"
    />
  );
}
