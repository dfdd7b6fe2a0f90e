// The only module that imports Polaris React. Pages use these names, so
// moving to Polaris web components (<s-page>, <s-section>, ...) later means
// rewriting this folder, not the pages.
export {
  AppProvider,
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  ButtonGroup,
  Card,
  Checkbox,
  Divider,
  EmptyState,
  FormLayout,
  InlineGrid,
  InlineStack,
  Layout,
  Link,
  Modal,
  Page,
  ProgressBar,
  Select,
  SkeletonBodyText,
  SkeletonDisplayText,
  Spinner,
  Tabs,
  Text,
  TextField,
} from '@shopify/polaris';
export { Table } from './Table';
export type { Column } from './Table';
export { States, NotAvailable } from './States';
export { StatusBadge } from './StatusBadge';
export { Tile } from './Tile';
export { notify, Toasts } from './Toast';
