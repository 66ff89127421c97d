export { CustomerDirectory, type CustomerDirectoryOptions, type CustomerFacts, type CustomerView } from './customer-directory.js';
