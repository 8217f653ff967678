<?php
// Laravel's own LengthAwarePaginator (Debian's php-illuminate-pagination), for the pager test
// (tests/integration/pager.rs): one JSON line per (page, last_page) pair of argv ("page:last"),
// the labels of linkCollection() between "Previous" and "Next", "..." for a separator.
require '/usr/share/php/Illuminate/Pagination/autoload.php';

use Illuminate\Pagination\LengthAwarePaginator;

foreach (array_slice($argv, 1) as $pair) {
    [$page, $last] = array_map('intval', explode(':', $pair));
    $paginator = new LengthAwarePaginator([1], $last * 10, 10, $page, ['path' => '/api/quotations']);
    $links = $paginator->linkCollection()->all();
    $inner = array_slice($links, 1, count($links) - 2);
    echo json_encode([
        'page' => $page,
        'last' => $last,
        'labels' => array_map(fn ($l) => (string) $l['label'], $inner),
        'active' => array_values(array_map(fn ($l) => (string) $l['label'], array_filter($inner, fn ($l) => $l['active']))),
    ]), "\n";
}
